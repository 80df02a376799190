"""The neural-network side of the corrective-signal principle: MLPs with (leaky) ReLU units,
training with dead-unit tracking, initialisation and signal-propagation analyses."""
