"""CRM documents and the temporary public links WhatsApp fetches them through."""
