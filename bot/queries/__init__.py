"""What reads and shows: answers to read-only commands, the posts rendered from the
database, the App Home, the decision log and its exports."""
