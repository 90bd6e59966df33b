# lit configuration for Sinter's golden tests. Each test file holds RUN lines and FileCheck patterns.
import os
import lit.formats

config.name = "sinter"
config.test_format = lit.formats.ShTest(True)
config.suffixes = [".sn", ".test"]
config.excludes = ["Inputs"]
config.test_source_root = config.lit_source_dir
config.environment["PATH"] = os.pathsep.join([config.llvm_tools_dir, config.environment.get("PATH", "")])
config.substitutions.append(("%sinter", config.sinter_bin))
config.substitutions.append(("%examples", os.path.join(config.source_root, "examples")))
config.substitutions.append(("%docs", os.path.join(config.source_root, "docs")))
