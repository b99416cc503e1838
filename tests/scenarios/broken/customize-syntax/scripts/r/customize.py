def preprocess(i):
    return {"return": 0
