from farmhound.cli import main

main()
