"""Export files -> canonical records, and the ingest pipeline that writes them to the store."""
