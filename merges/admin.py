"""Admin registrations for merge requests come with their models."""
