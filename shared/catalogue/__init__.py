"""Reference data every service reads alike: the service catalogue (what relief exists).

Distribution records deliveries against it and the helpline records the services a caller
asked for against it; both load the same file, so a code means the same thing everywhere.
"""
