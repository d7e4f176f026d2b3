from setuptools import Extension, setup

setup(ext_modules=[Extension("demo_ext._speed", ["src/demo_ext/_speed.c"])])
