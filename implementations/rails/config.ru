# Served by Debian's puma: `puma -C puma.rb` (see checklist.toml).
require_relative "app"
run Bank::Application
