"""Recipe: the PJRT plugin package a TPU program runs through."""
