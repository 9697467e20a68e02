"""The bureau's planned work beside the alerts: enterprise duties, inspection plans and tasks with their
enforcement actions, supervisory sampling, recalls, and credit records."""
