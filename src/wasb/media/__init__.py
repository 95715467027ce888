"""Inbound media: downloaded from Meta on receipt, kept content-addressed, served to agents."""
