"""Hub function ``v2_model_server`` (see function.yaml); a package only so that it is installed."""
