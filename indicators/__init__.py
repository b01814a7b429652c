"""The indicator registry: vocabularies, definitions and the query functions the pages use."""
