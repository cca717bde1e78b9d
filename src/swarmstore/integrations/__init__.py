"""Adapters that make swarmstore the storage of agent frameworks."""
