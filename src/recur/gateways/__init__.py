"""Payment gateways behind one protocol: simulated (test cards), stripe, manual."""
