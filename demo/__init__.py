"""The demo: synthetic report files for trying the warehouse out (`sovereignty demo`, docs/demo.md).

Not part of the pipeline: nothing in `pipelines/` imports it except the command that writes the
files. Its world (areas, notable products, foreign analogues) is data, in world.yml.
"""
