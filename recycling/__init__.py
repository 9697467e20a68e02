"""Vehicles and batteries taken back, first-station handover (回收首站), disposal and manifests."""
