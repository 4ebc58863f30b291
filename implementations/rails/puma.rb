# Puma 5.6 (Debian) for the checklist: one process, loopback only, bounded waits.
# Puma's parser also bounds a request line (12 KB), a header name (256 B), a header value
# (80 KB) and all headers (112 KB): larger requests get a 4xx. BodyLimit in app.rb bounds bodies.
bind "tcp://127.0.0.1:#{ENV.fetch('PORT')}"
environment "production"
threads 4, 8
workers 0                  # single mode: no forked workers, SIGTERM stops everything
first_data_timeout 10      # a silent or half-sent request is dropped after 10 s
persistent_timeout 20      # an idle kept-alive connection is closed after 20 s
max_fast_inline 10
rackup File.join(__dir__, "config.ru")
quiet
