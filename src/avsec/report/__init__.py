"""Paper-style reports: Markdown tables and figures from the JSON metrics the workflow writes."""
