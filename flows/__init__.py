"""flows/: Prefect flows that compose the stages on a schedule. No business logic lives here."""
