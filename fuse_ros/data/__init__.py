"""Data on disk: the episode store, normalisation statistics, recording and generating demonstrations,
and ROS 2 bags (export and ingest) with the message conversions the ROS nodes share."""
