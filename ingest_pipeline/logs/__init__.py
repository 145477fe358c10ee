"""One JSON log format for the API, the sensors and the runs, with secrets kept out."""
