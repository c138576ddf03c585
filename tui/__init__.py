"""The Textual terminal workbench. It talks to the `farmhound` core only, never to SQLite."""
