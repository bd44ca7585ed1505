def scale(platform, sandbox, factor=1.0):
    raise NotImplementedError
