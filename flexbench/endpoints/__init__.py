"""MLPerf Endpoints v1.0: a FlexBench concurrency sweep as an Endpoints submission tree.

`rules.py` holds the round's facts (canonical model names, the published seed sets, the region
boundaries of the rules' §5.5); `export.py` writes the tree. The official checker
(`endpoints-submission-cli`, PyPI) is run by the `check,mlperf,endpoints,submission` recipe.
A LoadGen harness is not MLCommons' own Endpoints client, so a tree written here is never an
official Endpoints result, and says so.
"""
