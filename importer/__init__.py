"""`nhacviec import`: read a plan's reporting calendar out of its document, for a person to review."""
