"""The SO-101 arm (six Feetech STS3215 servos on one serial bus) behind the bridge.

- `protocol`: the Feetech STS/SCS packet protocol and the STS3215 register table;
- `bus`: the servo bus over a serial port (pyserial): ping, read, write, sync read and write;
- `calibration`: the per-joint calibration file;
- `calibrate`: the guided steps of `robot-llm calibrate so101` (its arguments: `cli`);
- `kinematics`: forward and inverse kinematics from the arm's URDF;
- `driver`: `So101Driver`, the bridge driver registered as `so101`;
- `emulator`: an emulated servo bus on a pseudo-terminal, for tests and for trying it out.

docs/so101.md is the user's guide.
"""
