"""The model and pure rules: entities, the parity tally, durations and schedules,
identities, languages; no I/O."""
