"""mmengine checkpoints save and resume under torch >= 2.6 once mmfreqkd is imported."""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.registry import MODELS
from mmengine.runner import Runner
from torch.utils.data import Dataset

import mmfreqkd  # noqa: F401  (installs the checkpoint loader)


class ToyRegression(BaseModel):
    """A linear model trained with MSE; its weights show whether training
    continued from the right state."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 1)

    def forward(self, inputs, targets=None, mode='tensor'):
        pred = self.linear(torch.stack(inputs))
        if mode == 'loss':
            return dict(loss=((pred - torch.stack(targets))**2).mean())
        return pred


if 'ToyRegression' not in MODELS:
    MODELS.register_module(module=ToyRegression)


class ToyData(Dataset):

    def __init__(self):
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(16, 4, generator=gen)
        self.y = self.x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return dict(inputs=self.x[i], targets=self.y[i])


def make_runner(work_dir, max_iters, resume=False, load_from=None):
    return Runner(
        model=dict(type='ToyRegression'),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=ToyData(),
            sampler=dict(type='DefaultSampler', shuffle=True, seed=0),
            batch_size=4,
            num_workers=0),
        # Adam keeps per-parameter state: a resume that lost it would diverge.
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=0.05)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=3,
                            by_epoch=False)),
        randomness=dict(seed=0),
        resume=resume,
        load_from=load_from,
        default_scope='mmengine')


def test_resume_continues_iterations_and_weights(tmp_path):
    straight = make_runner(tmp_path / 'straight', max_iters=6)
    straight.train()
    expected = copy.deepcopy(straight.model.state_dict())

    first = make_runner(tmp_path / 'split', max_iters=3)
    first.train()
    ckpt = tmp_path / 'split' / 'iter_3.pth'
    assert ckpt.is_file()
    # the checkpoint holds more than tensors: plain torch.load refuses it
    with pytest.raises(Exception):
        torch.load(ckpt)

    resumed = make_runner(
        tmp_path / 'split', max_iters=6, resume=True, load_from=str(ckpt))
    resumed.train()
    assert resumed.iter == 6
    for key, value in resumed.model.state_dict().items():
        torch.testing.assert_close(value, expected[key])
    # the resumed run really trained: its weights moved from the checkpoint
    saved = torch.load(ckpt, weights_only=False)['state_dict']
    assert not torch.allclose(saved['linear.weight'],
                              resumed.model.state_dict()['linear.weight'])
