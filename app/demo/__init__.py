"""Demo data so a newcomer sees a living desk."""
