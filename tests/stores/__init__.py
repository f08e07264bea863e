"""Store adapters: the contract every adapter meets, races, crashes, schema upgrades."""
