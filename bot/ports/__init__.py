"""The core's ports: what a platform adapter implements and is given, what the storage
implements, leadership and the schedule watch."""
