"""Virtual-time models: computation durations, communication, speeds, closed forms."""
