"""The engine every simulated system shares: store, sandboxes, clock, journal, faults, snapshots, outbox."""
