"""Hub function ``v2_model_tester`` (see function.yaml); a package only so that it is installed."""
