from homl.cli import main

main()
