from clientbase.cli import main

main()
