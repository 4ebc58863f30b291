<?php
// PHP 8.2 native sessions (ext/session) under the book's checklist; one front controller.
//
// CONFIG=defaults: php.ini as Debian installs it for php-fpm (files handler, strict mode off,
//   no HttpOnly, no SameSite), and a login as the PHP manual's examples write it:
//   session_regenerate_id() (which keeps the old session) then $_SESSION['user']; logout is
//   the manual's session_destroy() recipe. PHP has no CSRF protection of its own: none here.
// CONFIG=recommended: the ini values start.py sets (strict mode, HttpOnly, Secure, SameSite=Lax,
//   __Host-sid, the Redis handler), session_regenerate_id(true) at login and on privilege
//   change, idle and absolute timeouts in code, a synchroniser CSRF token on every POST (the
//   login's too), a per-user generation for log out everywhere, a login throttle on Redis,
//   an even-timed password check.
// Demo passwords below: never reuse them.

declare(strict_types=1);

// The contract's demo users (name => [password, role]), one file for every language.
define('DEMO_USERS', json_decode(
    (string) file_get_contents(__DIR__ . '/../demo_users.json'), true, 4, JSON_THROW_ON_ERROR));
const HASH_OPTIONS = ['cost' => 8]; // a demo cost; production uses the default (10) or more
const DUMMY_HASH = '$2y$08$LuIvdbYbDBy4HON9tFG7SezKucQ5MIKblCDaxe6vTZzpJG/Doea32'; // of 'not a password'

$config = getenv('CONFIG') ?: 'defaults';
$recommended = $config === 'recommended';
$short = getenv('TIMEOUTS') === 'short';
$idleTimeout = $short ? 1 : 30 * 60;
$absoluteTimeout = $short ? 2 : 8 * 60 * 60;

function reply(int $status, array $body = []): never
{
    http_response_code($status);
    header('Content-Type: application/json');
    echo json_encode($body ?: new stdClass());
    exit;
}

/** A form field as a string, or null (absent, or an array such as username[]=...). */
function field(string $name): ?string
{
    $value = $_POST[$name] ?? null;
    return is_string($value) ? $value : null;
}

/** The users table: a JSON file in this run's folder, read and written under a lock. */
function users(?callable $change = null): array
{
    $dir = getenv('DATA_DIR');
    $lock = fopen("$dir/users.lock", 'c');
    flock($lock, $change === null ? LOCK_SH : LOCK_EX);
    try {
        $path = "$dir/users.json";
        $rows = is_file($path) ? json_decode((string) file_get_contents($path), true) : null;
        if (!is_array($rows)) {
            if ($change === null) {
                flock($lock, LOCK_UN);
                flock($lock, LOCK_EX); // seeding writes
            }
            $rows = [];
            foreach (DEMO_USERS as $name => [$password, $role]) {
                $rows[$name] = ['hash' => password_hash($password, PASSWORD_BCRYPT, HASH_OPTIONS),
                    'role' => $role, 'generation' => 0, 'disabled' => false];
            }
            file_put_contents("$path.new", json_encode($rows));
            rename("$path.new", $path);
        }
        if ($change !== null) {
            $rows = $change($rows);
            file_put_contents("$path.new", json_encode($rows));
            rename("$path.new", $path);
        }
        return $rows;
    } finally {
        flock($lock, LOCK_UN);
        fclose($lock);
    }
}

/** The user's row if the password is right. Without $evenly an unknown name costs no hash. */
function authenticate(string $name, string $password, bool $evenly): ?array
{
    $row = users()[$name] ?? null;
    if ($row === null && !$evenly) {
        return null;
    }
    $ok = password_verify($password, $row['hash'] ?? DUMMY_HASH);
    return $ok && $row !== null && !$row['disabled'] ? $row : null;
}

function redis(): Redis
{
    static $redis = null;
    if ($redis === null) {
        $redis = new Redis();
        $redis->connect(getenv('REDIS_HOST'), (int) getenv('REDIS_PORT'), 2.0);
    }
    return $redis;
}

// A cookie that cannot be a session ID is dropped before session_start(), which would otherwise
// warn and refuse to start ("Session ID is too long or contains illegal characters").
$cookieName = session_name();
if (isset($_COOKIE[$cookieName])
    && !(is_string($_COOKIE[$cookieName]) && preg_match('/\A[A-Za-z0-9,-]{22,256}\z/', $_COOKIE[$cookieName]))) {
    unset($_COOKIE[$cookieName]);
}
session_start();

function current_user(): ?array
{
    global $recommended;
    $name = $_SESSION['user'] ?? null;
    $row = is_string($name) ? (users()[$name] ?? null) : null;
    if ($row === null || $row['disabled']) {
        return null;
    }
    if ($recommended && ($_SESSION['generation'] ?? null) !== $row['generation']) {
        return null;
    }
    return $row + ['name' => $name];
}

function end_session(): void
{
    // The PHP manual's session_destroy() recipe: empty the data, expire the cookie, destroy.
    $_SESSION = [];
    $p = session_get_cookie_params();
    setcookie(session_name(), '', ['expires' => 1, 'path' => $p['path'], 'domain' => $p['domain'],
        'secure' => $p['secure'], 'httponly' => $p['httponly'], 'samesite' => $p['samesite']]);
    session_destroy();
}

function log_in(string $name): void
{
    global $recommended;
    session_regenerate_id($recommended); // defaults: the old session file stays, as documented
    $_SESSION['user'] = $name;
    if ($recommended) {
        $_SESSION['generation'] = users()[$name]['generation'];
        $_SESSION['authenticated_at'] = $_SESSION['seen_at'] = time();
        $_SESSION['csrf'] = bin2hex(random_bytes(32)); // a new token with the new session
    }
}

if ($recommended) {
    $now = microtime(true);
    $seen = $_SESSION['seen_at'] ?? null;
    $started = $_SESSION['authenticated_at'] ?? null;
    if (($seen !== null && $now - $seen > $idleTimeout) || ($started !== null && $now - $started > $absoluteTimeout)) {
        $_SESSION = [];
        session_regenerate_id(true);
    } elseif (isset($_SESSION['user'])) {
        $_SESSION['seen_at'] = $now;
    }
    header('Cache-Control: no-store');
    $_SESSION['csrf'] ??= bin2hex(random_bytes(32));
    if ($_SERVER['REQUEST_METHOD'] === 'POST') {
        $sent = $_SERVER['HTTP_X_CSRF_TOKEN'] ?? '';
        if (!is_string($sent) || !hash_equals($_SESSION['csrf'], $sent)) {
            reply(403, ['error' => 'CSRF token missing or wrong']);
        }
    }
}

$path = parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH) ?: '/';
$route = ($_SERVER['REQUEST_METHOD'] ?? 'GET') . ' ' . $path;

if ($route === 'GET /csrf') {
    reply(200, ['csrf_token' => $_SESSION['csrf'] ?? null]); // defaults: PHP has none
}
if ($route === 'POST /login') {
    $name = field('username');
    $password = field('password');
    if ($name === null || $password === null) {
        reply(400, ['error' => 'username and password are required']);
    }
    $failures = "login-failures:" . getenv('DATA_DIR') . ":$name";
    if ($recommended && (int) redis()->get($failures) >= 5) {
        reply(429, ['error' => 'too many attempts']);
    }
    if (authenticate($name, $password, $recommended) === null) {
        if ($recommended) {
            redis()->multi()->incr($failures)->expire($failures, 15 * 60)->exec();
        }
        reply(401, ['error' => 'wrong user name or password']);
    }
    log_in($name);
    reply(200, ['user' => $name, 'csrf_token' => $_SESSION['csrf'] ?? null]);
}

$known = ['GET /me', 'POST /logout', 'POST /logout-everywhere', 'POST /transfer', 'POST /elevate',
    'POST /password', 'POST /admin/end-sessions', 'POST /admin/disable'];
if (!in_array($route, $known, true)) {
    reply(404, ['error' => 'not found']);
}
$user = current_user();
if ($user === null) {
    reply(401, ['error' => 'not logged in']);
}

function admin_target(array $user): string
{
    $name = field('user');
    if ($user['role'] !== 'admin') {
        reply(403, ['error' => 'administrators only']);
    }
    if ($name === null || !isset(users()[$name])) {
        reply(404, ['error' => 'no such user']);
    }
    return $name;
}

function bump_generation(string $name): void
{
    users(function (array $rows) use ($name) {
        $rows[$name]['generation']++;
        return $rows;
    });
}

switch ($route) {
    case 'GET /me':
        reply(200, ['user' => $user['name'], 'role' => $user['role']]);
    case 'POST /logout':
        end_session();
        reply(200, ['logged_out' => true]);
    case 'POST /logout-everywhere':
        if (!$recommended) {
            reply(404, ['error' => 'the files handler keeps no list of a user\'s sessions']);
        }
        bump_generation($user['name']);
        end_session();
        reply(200, ['logged_out_everywhere' => true]);
    case 'POST /transfer':
        reply(200, ['transferred' => field('amount') ?? '']);
    case 'POST /elevate':
        $password = field('password');
        if ($password === null) {
            reply(400, ['error' => 'password is required']);
        }
        if (authenticate($user['name'], $password, $recommended) === null) {
            reply(401, ['error' => 'wrong password']);
        }
        session_regenerate_id($recommended);
        $_SESSION['elevated'] = true;
        reply(200, ['elevated' => true]);
    case 'POST /password':
        $old = field('old');
        $new = field('new');
        if ($old === null || $new === null || $new === '') {
            reply(400, ['error' => 'old and new are required']);
        }
        if (authenticate($user['name'], $old, $recommended) === null) {
            reply(401, ['error' => 'wrong password']);
        }
        $endOthers = $recommended && field('end_other_sessions') === '1';
        users(function (array $rows) use ($user, $new, $endOthers) {
            $rows[$user['name']]['hash'] = password_hash($new, PASSWORD_BCRYPT, HASH_OPTIONS);
            if ($endOthers) {
                $rows[$user['name']]['generation']++;
            }
            return $rows;
        });
        if ($endOthers) {
            log_in($user['name']); // this device stays in, on a new session ID
        }
        reply(200, ['changed' => true]);
    case 'POST /admin/end-sessions':
        $name = admin_target($user);
        if (!$recommended) {
            reply(404, ['error' => 'the files handler keeps no list of a user\'s sessions']);
        }
        bump_generation($name);
        reply(200, ['ended' => $name]);
    case 'POST /admin/disable':
        $name = admin_target($user);
        users(function (array $rows) use ($name) {
            $rows[$name]['disabled'] = true;
            return $rows;
        });
        reply(200, ['disabled' => $name]);
}
