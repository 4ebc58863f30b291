# Rails 6.1 (Debian's ruby-rails) as a single-file app under the book's session checklist.
#
# CONFIG picks the configuration:
#   defaults    - `config.load_defaults "6.1"` (what `rails new` writes) and Rails' default
#                 session store, the encrypted CookieStore; login and logout as the Action
#                 Controller guide shows them (set / clear session[:current_user_id]).
#   no-load-defaults - the same without `config.load_defaults`: Rails' older framework defaults.
#   cache-store - the same code on ActionDispatch::Session::CacheStore over ActiveSupport's
#                 RedisCacheStore (ruby-redis): the server-side store Rails ships.
#   recommended - the cache store configured as the Rails security guide advises: reset_session
#                 at login, Secure/HttpOnly/SameSite, a __Host- name, expire_after, an absolute
#                 timeout, protect_from_forgery on every POST (login included), log out
#                 everywhere through a per-user generation, a login throttle, no-store.
# TIMEOUTS=short shrinks the configuration's own timeouts to 1 s idle and 2 s absolute.
# Demo passwords below: never reuse them.

ENV["RAILS_ENV"] ||= "production"
require "action_controller/railtie"
require "active_support/cache/redis_cache_store"
require "bcrypt"
require "json"
require "securerandom"

CONFIG = ENV.fetch("CONFIG", "defaults")
unless %w[defaults no-load-defaults cache-store recommended].include?(CONFIG)
  abort "CONFIG must be defaults, no-load-defaults, cache-store or recommended, not #{CONFIG.inspect}"
end
RECOMMENDED = CONFIG == "recommended"
SHORT = ENV["TIMEOUTS"] == "short"
IDLE_TIMEOUT = SHORT ? 1 : 30 * 60          # seconds; recommended only (expire_after)
ABSOLUTE_TIMEOUT = SHORT ? 2 : 8 * 60 * 60  # seconds; recommended only (checked in code)
BCRYPT_COST = 8                             # a demo cost; production uses 12 or more
BODY_LIMIT = 64 * 1024

# The demo users table, in this process's memory (one puma process, several threads); a
# deployment with several processes keeps it in its database.
class Users
  # The contract's demo users (name => [password, role]), one file for every language.
  DEMO = JSON.parse(File.read(File.expand_path("../demo_users.json", __dir__))).freeze
  DUMMY = BCrypt::Password.create("not a password", cost: BCRYPT_COST)

  def initialize
    @lock = Mutex.new
    @rows = DEMO.to_h do |name, (password, role)|
      [name, { hash: BCrypt::Password.create(password, cost: BCRYPT_COST), role: role,
               generation: 0, disabled: false }]
    end
  end

  def find(name) = @lock.synchronize { @rows[name]&.dup }

  def update(name) = @lock.synchronize { yield @rows.fetch(name) }

  # The password check. Without `evenly` an unknown name costs no hash, as most examples do.
  def authenticate(name, password, evenly:)
    row = find(name)
    return nil if row.nil? && !evenly
    ok = BCrypt::Password.new(row ? row[:hash] : DUMMY) == password
    ok && row && !row[:disabled] ? row : nil
  end
end

USERS = Users.new

# Refuses bodies above BODY_LIMIT with 413 before Rails parses them (puma 5 has no body limit).
class BodyLimit
  def initialize(app) = @app = app

  def call(env)
    if env["CONTENT_LENGTH"].to_i > BODY_LIMIT
      return [413, { "Content-Type" => "application/json" }, ['{"error":"body too large"}']]
    end
    @app.call(env)
  end
end

module Bank
  class Application < Rails::Application
    config.load_defaults "6.1" unless CONFIG == "no-load-defaults" # Rails' older defaults then
    config.root = __dir__
    config.eager_load = true
    config.consider_all_requests_local = false
    config.secret_key_base = ENV.fetch("SECRET_KEY_BASE") { SecureRandom.hex(64) }
    config.hosts.clear # loopback only; Chromium reaches it as app.site.localhost
    config.logger = ActiveSupport::Logger.new($stderr, level: :warn)
    config.log_level = :warn
    config.middleware.insert_before 0, BodyLimit
    if %w[cache-store recommended].include?(CONFIG)
      redis = ActiveSupport::Cache::RedisCacheStore.new(
        url: ENV.fetch("REDIS_URL"), namespace: "rails-#{CONFIG}-#{SHORT ? 'short' : 'long'}"
      )
      config.cache_store = redis
      if RECOMMENDED
        config.session_store :cache_store, cache: redis, key: "__Host-session", secure: true,
                                           httponly: true, same_site: :lax,
                                           expire_after: IDLE_TIMEOUT
      else
        config.session_store :cache_store, cache: redis, key: "_bank_session"
      end
    end
  end
end

class ApplicationController < ActionController::Base
  # Under load_defaults "6.1" ActionController::Base already protects every POST from forgery
  # (raise, answered 422), the login's included, as `rails new`'s empty ApplicationController
  # relies on; without load_defaults it does not. recommended says it explicitly.
  protect_from_forgery with: :exception if RECOMMENDED
  before_action :check_timeouts, if: -> { RECOMMENDED }
  after_action :no_store, if: -> { RECOMMENDED }

  rescue_from ActionController::ParameterMissing, with: -> { head :bad_request }
  # The status Rails gives a forged request (422), with a body: a one-file app has no
  # public/422.html, and Chromium treats a navigation to an empty 4xx page as a network error.
  rescue_from ActionController::InvalidAuthenticityToken do
    render json: { error: "CSRF token missing or wrong" }, status: :unprocessable_entity
  end

  private

  def current_user
    return @current_user if defined?(@current_user)
    name = session[:current_user_id]
    row = name.is_a?(String) ? USERS.find(name) : nil
    row = nil if row && (row[:disabled] || (RECOMMENDED && session[:generation] != row[:generation]))
    @current_user = row && row.merge(name: name)
  end

  def require_login
    render json: { error: "not logged in" }, status: :unauthorized unless current_user
  end

  def field(name)
    value = params[name]
    value.is_a?(String) ? value : nil
  end

  def log_in(name)
    reset_session if RECOMMENDED # a new session ID at login: no fixation
    session[:current_user_id] = name
    return unless RECOMMENDED
    session[:generation] = USERS.find(name)[:generation]
    session[:authenticated_at] = Time.now.to_f
  end

  # A new session ID with the same data (a privilege change).
  def renew_session_id
    kept = session.to_hash.except("_csrf_token")
    reset_session
    kept.each { |key, value| session[key] = value }
  end

  def check_timeouts
    started = session[:authenticated_at]
    return unless started.is_a?(Numeric) && Time.now.to_f - started > ABSOLUTE_TIMEOUT
    reset_session
    @current_user = nil
  end

  def no_store
    response.headers["Cache-Control"] = "no-store" if current_user || action_name == "login"
  end

  def throttled?(name)
    # increment stores a raw integer, so it is read back raw.
    Rails.cache.read("login-failures:#{name}", raw: true).to_i >= 5
  end

  def count_failure(name)
    Rails.cache.increment("login-failures:#{name}", 1, expires_in: 15.minutes)
  end
end

class SessionsController < ApplicationController
  before_action :require_login, except: %i[csrf login]

  def csrf
    render json: { csrf_token: form_authenticity_token }
  end

  def login
    name, password = field(:username), field(:password)
    return head :bad_request if name.nil? || password.nil?
    return render(json: { error: "too many attempts" }, status: 429) if RECOMMENDED && throttled?(name)
    if USERS.authenticate(name, password, evenly: RECOMMENDED)
      log_in(name)
      render json: { user: name }
    else
      count_failure(name) if RECOMMENDED
      render json: { error: "wrong user name or password" }, status: :unauthorized
    end
  end

  def me
    render json: { user: current_user[:name], role: current_user[:role] }
  end

  def logout
    if RECOMMENDED
      reset_session
    else
      session[:current_user_id] = nil # the Action Controller guide's logout
    end
    render json: { logged_out: true }
  end

  def logout_everywhere
    return head :not_found unless RECOMMENDED # Rails keeps no list of a user's sessions
    USERS.update(current_user[:name]) { |row| row[:generation] += 1 }
    reset_session
    render json: { logged_out_everywhere: true }
  end

  def transfer
    render json: { transferred: field(:amount).to_s }
  end

  def elevate
    password = field(:password)
    return head :bad_request if password.nil?
    unless USERS.authenticate(current_user[:name], password, evenly: RECOMMENDED)
      return head :unauthorized
    end
    renew_session_id if RECOMMENDED
    session[:elevated] = true
    render json: { elevated: true }
  end

  def password
    old, new = field(:old), field(:new)
    return head :bad_request if old.nil? || new.nil? || new.empty?
    name = current_user[:name]
    return head :unauthorized unless USERS.authenticate(name, old, evenly: RECOMMENDED)
    ended = RECOMMENDED && field(:end_other_sessions) == "1"
    USERS.update(name) do |row|
      row[:hash] = BCrypt::Password.create(new, cost: BCRYPT_COST)
      row[:generation] += 1 if ended
    end
    log_in(name) if ended # this device stays in, on a new session ID
    render json: { changed: true }
  end

  def admin_end_sessions
    name = admin_target or return
    return head :not_found unless RECOMMENDED
    USERS.update(name) { |row| row[:generation] += 1 }
    render json: { ended: name }
  end

  def admin_disable
    name = admin_target or return
    USERS.update(name) { |row| row[:disabled] = true }
    render json: { disabled: name }
  end

  private

  def admin_target
    return head(:forbidden) && nil unless current_user[:role] == "admin"
    name = field(:user)
    return head(:not_found) && nil unless name && USERS.find(name)
    name
  end
end

Bank::Application.initialize!

# Drawn after initialize!: the routes reloader clears routes drawn earlier in a one-file app.
Bank::Application.routes.draw do
  get "/csrf", to: "sessions#csrf"
  post "/login", to: "sessions#login"
  get "/me", to: "sessions#me"
  post "/logout", to: "sessions#logout"
  post "/logout-everywhere", to: "sessions#logout_everywhere"
  post "/transfer", to: "sessions#transfer"
  post "/elevate", to: "sessions#elevate"
  post "/password", to: "sessions#password"
  post "/admin/end-sessions", to: "sessions#admin_end_sessions"
  post "/admin/disable", to: "sessions#admin_disable"
end
