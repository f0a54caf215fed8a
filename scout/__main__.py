from scout.relay import main

main()
