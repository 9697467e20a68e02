"""Charging and swap operators (以芯智控): their cabinets, the swaps and alarms their cabinets see."""
