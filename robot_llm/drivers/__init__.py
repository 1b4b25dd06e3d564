"""Drivers for real arms that ship with robot-llm (each in its own subpackage, loaded by name
through `robot_llm.bridge.driver`): `so101`, the SO-101 arm on its Feetech servo bus."""
