"""Robots behind one protocol. The simulated arm is `robot_llm.robots.sim.SimRobot` (imported
from there, so code that drives a remote arm never loads the simulator)."""

from robot_llm.robots.base import Applied, Robot, RobotError, RobotInfo, RobotLimits

__all__ = ["Applied", "Robot", "RobotError", "RobotInfo", "RobotLimits"]
