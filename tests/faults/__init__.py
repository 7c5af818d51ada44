"""A seeded, randomised fault harness: real `circlebot run` processes driven like Slack
drives them while faults are injected, checked afterwards against an independent model.
`python -m tests.faults --runs N` runs it; tests/faults/test_faults.py runs a short one."""
