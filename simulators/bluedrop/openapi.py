CONTROL_PATHS = {"paths": {}, "schemas": {}}
API_DOCUMENT = {}
