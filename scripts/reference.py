#!/usr/bin/env python3
"""Reference implementation of the SNN sound-localisation teaching notebook.

The notebook's cells, rearranged behind a command line so that the Rust port
can be checked against them: same formulas, same float64 numpy stimulus, and
the same sequence of numpy and torch random draws for a given seed. Results
go to stdout and optionally to a JSON file (metrics, timings) and a
safetensors file (intermediate tensors for draw-by-draw comparison).

Run with the project venv (scripts/setup.sh): torch and numpy only, plus
safetensors for --tensors.
"""

import argparse
import json
import resource
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn

# IPDs in (-90, 90) degrees are classified into 15-degree bins.
NUM_CLASSES = 180 // 15
DTYPE = torch.float


@dataclass(frozen=True)
class Setup:
    """Constants the notebook keeps as globals, fixed for one run."""

    dt: float
    tau: float
    duration_steps: int
    anf_per_ear: int
    rate_max: float
    f: float
    num_hidden: int
    beta: float
    batch_size: int
    device: torch.device


def input_signal(ipd, setup, envelope_power):
    """Poisson spikes of both ears' nerve fibres for each IPD in `ipd`.

    Returns (spikes, theta): spikes is a boolean array of shape
    (len(ipd), duration_steps, 2*anf_per_ear), the first anf_per_ear fibres
    belonging to the ear without the IPD; theta holds the fibres' phases.
    """
    num_samples = len(ipd)
    anf = setup.anf_per_ear
    T = np.arange(setup.duration_steps) * setup.dt
    # One random starting phase per call, shared by every sample, so that the
    # network cannot rely on absolute phase.
    phi = 2 * np.pi * (setup.f * T) + 2 * np.pi * np.random.rand()
    # Fibre delays spanning 0..pi/2 in each ear let the between-ear delay
    # differences cover the whole IPD range.
    phase_delays = np.linspace(0, np.pi / 2, anf)
    theta = np.zeros((num_samples, setup.duration_steps, 2 * anf))
    theta[:, :, :anf] = phi[np.newaxis, :, np.newaxis] + phase_delays[np.newaxis, np.newaxis, :]
    theta[:, :, anf:] = (
        phi[np.newaxis, :, np.newaxis]
        + phase_delays[np.newaxis, np.newaxis, :]
        + ipd[:, np.newaxis, np.newaxis]
    )
    probability = setup.rate_max * setup.dt * (0.5 * (1 + np.sin(theta))) ** envelope_power
    spikes = probability > np.random.rand(num_samples, setup.duration_steps, 2 * anf)
    return spikes, theta


def random_ipd_input_signal(num_samples, setup, envelope_power, tensor=True):
    """Uniform random IPDs in (-pi/2, pi/2) and their spike trains.

    With `tensor`, both come back as float32 tensors on the setup's device.
    """
    ipd = np.random.rand(num_samples) * np.pi - np.pi / 2
    # The notebook omitted envelope_power here, so its envelope sweep never changed the stimulus.
    spikes, theta = input_signal(ipd, setup, envelope_power)
    if tensor:
        ipd = torch.tensor(ipd, device=setup.device, dtype=DTYPE)
        spikes = torch.tensor(spikes, device=setup.device, dtype=DTYPE)
    return ipd, spikes, theta


def discretise(ipds):
    """Class index in [0, NUM_CLASSES) of each IPD tensor entry."""
    return ((ipds + np.pi / 2) * NUM_CLASSES / np.pi).long()


def continuise(ipd_indices):
    """IPD at the middle of each class's bin."""
    return (ipd_indices + 0.5) / NUM_CLASSES * np.pi - np.pi / 2


def data_generator(ipds, spikes, batch_size, perms=None):
    """Full batches of (spikes, ipds) in a fresh random order.

    The permutation is one torch.randperm per pass (drawn when iteration
    starts); a trailing partial batch is dropped. If `perms` is a list, the
    permutation is appended to it so callers can record it.
    """
    perm = torch.randperm(spikes.shape[0])
    if perms is not None:
        perms.append(perm)
    spikes = spikes[perm, :, :]
    ipds = ipds[perm]
    n_batch = spikes.shape[0] // batch_size
    for i in range(n_batch):
        yield spikes[i * batch_size:(i + 1) * batch_size, :, :], ipds[i * batch_size:(i + 1) * batch_size]


class SurrGradSpike(torch.autograd.Function):
    """Heaviside step forwards; derivative of a sigmoid of steepness beta
    backwards, which gives the spiking threshold a usable gradient."""

    @staticmethod
    def forward(ctx, input, beta):
        ctx.save_for_backward(input)
        ctx.beta = beta
        out = torch.zeros_like(input)
        out[input > 0] = 1.0
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        beta = ctx.beta
        grad = grad_output * beta * torch.sigmoid(beta * input) * (1 - torch.sigmoid(beta * input))
        return grad, None


def init_weight_matrices(setup):
    """Input-to-hidden and hidden-to-output weights, uniform in
    +-1/sqrt(fan_in) with fan_in as torch computes it for a 2-D tensor
    (its second dimension)."""
    input_size = 2 * setup.anf_per_ear
    W1 = nn.Parameter(
        torch.empty((input_size, setup.num_hidden), device=setup.device, dtype=DTYPE, requires_grad=True)
    )
    fan_in, _ = nn.init._calculate_fan_in_and_fan_out(W1)
    bound = 1 / np.sqrt(fan_in)
    nn.init.uniform_(W1, -bound, bound)
    W2 = nn.Parameter(
        torch.empty((setup.num_hidden, NUM_CLASSES), device=setup.device, dtype=DTYPE, requires_grad=True)
    )
    fan_in, _ = nn.init._calculate_fan_in_and_fan_out(W2)
    bound = 1 / np.sqrt(fan_in)
    nn.init.uniform_(W2, -bound, bound)
    return W1, W2


def snn(input_spikes, W1, W2, setup):
    """Membrane potentials of the output layer, (batch, steps, NUM_CLASSES).

    Hidden layer: leaky integrate-and-fire neurons with threshold 1, reset to
    zero the step after a spike. Output layer: leaky integrators without
    spikes. State shapes follow the batch given, so partial batches work.
    """
    batch = input_spikes.shape[0]
    alpha = np.exp(-setup.dt / setup.tau)

    v = torch.zeros((batch, setup.num_hidden), device=setup.device, dtype=DTYPE)
    s = torch.zeros((batch, setup.num_hidden), device=setup.device, dtype=DTYPE)
    s_rec = [s]
    h = torch.einsum("abc,cd->abd", (input_spikes, W1))
    for t in range(setup.duration_steps - 1):
        # The spike test uses the potential from before this step's update,
        # and the reset multiplies by the previous step's spikes.
        new_v = (alpha * v + h[:, t, :]) * (1 - s)
        s = SurrGradSpike.apply(v - 1, setup.beta)
        v = new_v
        s_rec.append(s)
    s_rec = torch.stack(s_rec, dim=1)

    v = torch.zeros((batch, NUM_CLASSES), device=setup.device, dtype=DTYPE)
    v_rec = [v]
    h = torch.einsum("abc,cd->abd", (s_rec, W2))
    for t in range(setup.duration_steps - 1):
        v = alpha * v + h[:, t, :]
        v_rec.append(v)
    return torch.stack(v_rec, dim=1)


def analyse(ipds, spikes, label, run, batch_size, quiet=False):
    """Classifier accuracy and absolute IPD error over shuffled full batches.

    Returns (accuracy mean %, accuracy std %, error mean deg, error std deg,
    confusion) where the std is over per-batch accuracies / per-sample errors
    (population std) and confusion[predicted, true] holds raw counts.
    """
    accs = []
    ipd_true = []
    ipd_estimated = []
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES))
    for spike_batch, ipd_batch in data_generator(ipds, spikes, batch_size):
        ipd_class_batch = discretise(ipd_batch)
        m = torch.sum(run(spike_batch), 1)
        _, ipd_class_batch_estimated = torch.max(m, 1)
        estimated = ipd_class_batch_estimated.cpu().numpy()
        for i, j in zip(ipd_class_batch.cpu().numpy(), estimated):
            confusion[j, i] += 1
        ipd_true.append(ipd_batch.cpu().numpy())
        ipd_estimated.append(continuise(estimated))
        accs.append(np.mean((ipd_class_batch == ipd_class_batch_estimated).cpu().numpy()))
    ipd_true = np.hstack(ipd_true)
    ipd_estimated = np.hstack(ipd_estimated)
    abs_errors_deg = abs(ipd_true - ipd_estimated) * 180 / np.pi
    acc_mean = 100 * np.mean(accs)
    acc_std = 100 * np.std(accs)
    err_mean = np.mean(abs_errors_deg)
    err_std = np.std(abs_errors_deg)
    if not quiet:
        print(f"{label} classifier accuracy: {acc_mean:.1f}%")
        print(f"{label} absolute error: {err_mean:.1f} deg")
    return acc_mean, acc_std, err_mean, err_std, confusion


def train(ipds, spikes, W1, W2, setup, epochs, lr, capture=None, quiet=False):
    """Adam on the log-softmax/NLL loss of the time-summed output, scaled so
    that the untrained loss starts near log(NUM_CLASSES).

    Returns (per-epoch mean losses, per-epoch seconds). If `capture` is a
    dict, it receives the first epoch's permutation and the first batch's
    output, loss and gradients (taken before the first optimiser step).
    """
    optimizer = torch.optim.Adam([W1, W2], lr=lr)
    log_softmax_fn = nn.LogSoftmax(dim=1)
    loss_fn = nn.NLLLoss()
    if not quiet:
        print(f"Want loss for epoch 1 to be about {-np.log(1 / NUM_CLASSES):.2f}, "
              "multiply m by constant to get this")
    labels = discretise(ipds)
    loss_hist = []
    epoch_seconds = []
    for e in range(epochs):
        start = time.perf_counter()
        perms = [] if capture is not None and e == 0 else None
        local_loss = []
        for spike_batch, ipd_batch in data_generator(labels, spikes, setup.batch_size, perms):
            output = snn(spike_batch, W1, W2, setup)
            m = torch.sum(output, 1) * 0.01
            loss = loss_fn(log_softmax_fn(m), ipd_batch)
            local_loss.append(loss.item())
            optimizer.zero_grad()
            loss.backward()
            if perms is not None and len(local_loss) == 1:
                capture["first_perm"] = perms[0]
                capture["first_output"] = output.detach()
                capture["first_loss"] = loss.detach().reshape(1)
                capture["first_grad_w1"] = W1.grad.detach().clone()
                capture["first_grad_w2"] = W2.grad.detach().clone()
            optimizer.step()
        synchronize(setup.device)
        epoch_seconds.append(time.perf_counter() - start)
        loss_hist.append(float(np.mean(local_loss)))
        if not quiet:
            print("Epoch %i: loss=%.5f" % (e + 1, np.mean(local_loss)))
    return loss_hist, epoch_seconds


def synchronize(device):
    """Waits for queued GPU work so that wall-clock timings are honest."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_rss_mb():
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def number(text):
    """A float flag that stays a Python int when integer-valued, as the
    notebook's constants are (e.g. `envelope_power = 2`, `600*Hz`), so that
    `**` and float64 products match it exactly."""
    value = float(text)
    return int(value) if value.is_integer() else value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="seeds numpy and torch at start")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--n-training-batches", type=int, default=64)
    parser.add_argument("--n-testing-batches", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--envelope-power", type=number, default=2)
    parser.add_argument("--num-hidden", type=int, default=30)
    parser.add_argument("--tau-ms", type=number, default=20)
    parser.add_argument("--anf-per-ear", type=int, default=100)
    parser.add_argument("--rate-max", type=number, default=600, help="Hz")
    parser.add_argument("--f", type=number, default=20, help="stimulus frequency, Hz")
    parser.add_argument("--dt-ms", type=number, default=1)
    parser.add_argument("--duration-ms", type=number, default=100)
    parser.add_argument("--beta", type=number, default=5, help="surrogate gradient steepness")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--json", metavar="PATH", help="write results as JSON")
    parser.add_argument("--tensors", metavar="PATH", help="write intermediate tensors (safetensors; large)")
    parser.add_argument(
        "--time-stimulus", type=int, metavar="N", help="only time generating N samples, then exit"
    )
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def make_setup(args):
    dt = args.dt_ms * 1e-3
    duration = args.duration_ms * 1e-3
    return Setup(
        dt=dt,
        tau=args.tau_ms * 1e-3,
        duration_steps=int(np.round(duration / dt)),
        anf_per_ear=args.anf_per_ear,
        rate_max=args.rate_max,
        f=args.f,
        num_hidden=args.num_hidden,
        beta=args.beta,
        batch_size=args.batch_size,
        device=torch.device(args.device),
    )


def write_json(path, payload):
    with open(path, "w") as out:
        json.dump(payload, out, indent=2)
        out.write("\n")


def time_stimulus(args, setup):
    start = time.perf_counter()
    random_ipd_input_signal(args.time_stimulus, setup, args.envelope_power)
    synchronize(setup.device)
    result = {"seconds": time.perf_counter() - start, "peak_rss_mb": peak_rss_mb()}
    if not args.quiet:
        print(f"{args.time_stimulus} samples in {result['seconds']:.3f} s, "
              f"peak RSS {result['peak_rss_mb']:.0f} MB")
    if args.json:
        write_json(args.json, result)


def run_experiment(args, setup):
    """The notebook's training and analysis cells, in the notebook's order."""
    seconds = {}
    tensors = {} if args.tensors else None
    total_start = time.perf_counter()

    start = time.perf_counter()
    ipds, spikes, _ = random_ipd_input_signal(
        args.batch_size * args.n_training_batches, setup, args.envelope_power
    )
    synchronize(setup.device)
    seconds["data_train"] = time.perf_counter() - start

    W1, W2 = init_weight_matrices(setup)
    if tensors is not None:
        tensors["train_ipds"] = ipds
        tensors["train_spikes"] = spikes
        tensors["w1_init"] = W1.detach().clone()
        tensors["w2_init"] = W2.detach().clone()

    start = time.perf_counter()
    loss_hist, seconds["epochs"] = train(
        ipds, spikes, W1, W2, setup, args.epochs, args.lr, tensors, args.quiet
    )
    seconds["train_total"] = time.perf_counter() - start
    if tensors is not None:
        tensors["w1_final"] = W1.detach()
        tensors["w2_final"] = W2.detach()

    if not args.quiet:
        print(f"Chance accuracy level: {100 * 1 / NUM_CLASSES:.1f}%")

    # Evaluation needs no autograd graph; skipping it changes no value.
    def run(x):
        with torch.no_grad():
            return snn(x, W1, W2, setup)

    start = time.perf_counter()
    train_results = analyse(ipds, spikes, "Train", run, args.batch_size, args.quiet)
    seconds["analysis_train"] = time.perf_counter() - start

    start = time.perf_counter()
    ipds_test, spikes_test, _ = random_ipd_input_signal(
        args.batch_size * args.n_testing_batches, setup, args.envelope_power
    )
    synchronize(setup.device)
    seconds["data_test"] = time.perf_counter() - start
    if tensors is not None:
        tensors["test_ipds"] = ipds_test

    start = time.perf_counter()
    test_results = analyse(ipds_test, spikes_test, "Test", run, args.batch_size, args.quiet)
    seconds["analysis_test"] = time.perf_counter() - start
    seconds["total"] = time.perf_counter() - total_start

    def metrics(results):
        acc_mean, acc_std, err_mean, err_std, _ = results
        return {
            "acc_mean": float(acc_mean),
            "acc_std": float(acc_std),
            "err_mean": float(err_mean),
            "err_std": float(err_std),
        }

    if args.json:
        write_json(
            args.json,
            {
                "config": vars(args),
                "loss_hist": loss_hist,
                "train": metrics(train_results),
                "test": metrics(test_results),
                "confusion_test": test_results[4].astype(int).tolist(),
                "seconds": seconds,
                "peak_rss_mb": peak_rss_mb(),
            },
        )
    if tensors is not None:
        from safetensors.torch import save_file

        save_file({name: t.detach().cpu().contiguous() for name, t in tensors.items()}, args.tensors)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    setup = make_setup(args)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    if args.time_stimulus is not None:
        time_stimulus(args, setup)
    else:
        run_experiment(args, setup)


if __name__ == "__main__":
    main()
