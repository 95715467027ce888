"""Live changes: which conversations changed, told to every open page at once."""
