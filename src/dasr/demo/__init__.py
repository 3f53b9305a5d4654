"""``dasr demo``: the whole method on wallpapers shipped in the package, with no download.

``dataset`` builds the unpaired training set and the validation pairs from those photos;
``run`` trains DASR and the bicubic-pairs baseline on them and compares both with bicubic
upsampling on the validation pairs.
"""

from dasr.demo.dataset import DemoData, build_demo_data
from dasr.demo.run import DemoResult, run_demo

__all__ = ["DemoData", "DemoResult", "build_demo_data", "run_demo"]
