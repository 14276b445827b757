"""Admin registrations for monitoring come with its models."""
