"""Channel adapters: SMS and the voice hand-off, with pluggable providers (SMS-1, VOI-1)."""
