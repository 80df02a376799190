/* The cruise-control PI loop of benchmarks/bench_simulate.py, RK4 at dt = 0.01, in plain C.
   Same equations as leaky_control's kernel (PLANT_CRUISE + CTRL_PID, error shape, anti-windup),
   outputs stored every step; compiled with -O3 as the speed reference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double clip(double v, double lo, double hi) { return v < lo ? lo : (v > hi ? hi : v); }
static double leaky(double x, double a) { return x >= 0 ? x : a * x; }

static void deriv(double t, const double *X, double r, double theta, double *dX, double *u_out) {
    const double m = 1600, g = 9.8, Cr = 0.01, Cd = 0.32, rho = 1.3, A = 2.4, alpha = 12,
                 Tm = 190, wm = 420, beta = 0.4;
    const double kp = 0.5, ki = 0.1, a = 0.1, kaw = 0.2;
    double v = X[0], z = X[1], e = r - v;
    double uraw = kp * leaky(e, a) + ki * z, u = clip(uraw, 0, 1);
    double thr = clip(u, 0, 1), w = alpha * v;
    double torque = Tm * (1 - beta * (w / wm - 1) * (w / wm - 1));
    double F = alpha * (torque > 0 ? torque : 0) * thr;
    double Fd = m * g * sin(theta) + m * g * Cr * copysign(1.0, v) + 0.5 * rho * Cd * A * fabs(v) * v;
    dX[0] = (F - Fd) / m;
    dX[1] = e + kaw / ki * (u - uraw);
    *u_out = u;
}

static double hill(double t) {
    const double d = 4.0 / 180.0 * M_PI;
    return t <= 5 ? 0 : (t <= 6 ? d * (t - 5) : d);
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 200, n = 3001;
    double h = 0.01, *out = malloc(sizeof(double) * 2 * n), best = 1e30, times[1000];
    for (int rep = 0; rep < reps && rep < 1000; rep++) {
        struct timespec s, e;
        clock_gettime(CLOCK_MONOTONIC, &s);
        double X[2] = {20.0, 0.0}, k1[2], k2[2], k3[2], k4[2], Xt[2], u;
        for (int k = 0; k < n - 1; k++) {
            double t = k * h;
            deriv(t, X, 25, hill(t), k1, &u);
            for (int i = 0; i < 2; i++) Xt[i] = X[i] + 0.5 * h * k1[i];
            deriv(t + 0.5 * h, Xt, 25, hill(t + 0.5 * h), k2, &u);
            for (int i = 0; i < 2; i++) Xt[i] = X[i] + 0.5 * h * k2[i];
            deriv(t + 0.5 * h, Xt, 25, hill(t + 0.5 * h), k3, &u);
            for (int i = 0; i < 2; i++) Xt[i] = X[i] + h * k3[i];
            deriv(t + h, Xt, 25, hill(t + h), k4, &u);
            for (int i = 0; i < 2; i++) X[i] += h / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
            out[2 * (k + 1)] = X[0];
            out[2 * (k + 1) + 1] = u;
        }
        clock_gettime(CLOCK_MONOTONIC, &e);
        times[rep] = (e.tv_sec - s.tv_sec) + 1e-9 * (e.tv_nsec - s.tv_nsec);
    }
    /* median */
    for (int i = 0; i < reps; i++) for (int j = i + 1; j < reps; j++)
        if (times[j] < times[i]) { double tmp = times[i]; times[i] = times[j]; times[j] = tmp; }
    best = times[reps / 2];
    printf("%.9e %.12f\n", best, out[2 * (n - 1)]);
    free(out);
    return 0;
}
